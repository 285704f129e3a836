using ApiGateway.Core.Certificates;
using ApiGateway.Core.Policies;
using ApiGateway.Host.Backends;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline.Steps;

/// <summary>&lt;authentication-certificate certificate-id="..." | thumbprint="..." /&gt;: the client certificate presented to the backend.</summary>
internal sealed class AuthenticationCertificateStep(PolicyNode node, PolicyOwner owner, ServedCertificate? resolved, TextValue? id, TextValue? thumbprint) : Step(node, owner)
{
    public static AuthenticationCertificateStep Create(StepFactory factory, AuthenticationCertificatePolicy credential, StepPlace at) =>
        new(credential, at.Owner, factory.Credential(credential), factory.Text(credential.CertificateId), factory.Text(credential.Thumbprint));

    public override Flow Execute(PolicyContext context)
    {
        context.State.AuthenticationCertificate = resolved ?? Resolve(context);
        return Flow.Continue;
    }

    private ServedCertificate Resolve(PolicyContext context)
    {
        var snapshot = context.State.Snapshot;
        if (id is not null)
        {
            var value = id.Evaluate(context) ?? string.Empty;
            if (snapshot.Certificates.TryGetValue(value, out var byId) && byId.Certificate.HasPrivateKey)
                return byId;
            throw new PolicyRuntimeException($"<authentication-certificate> names certificate '{value}', which does not exist or has no private key.");
        }
        var print = CertificateMetadata.NormalizeThumbprint(thumbprint!.Evaluate(context) ?? string.Empty);
        if (snapshot.CertificatesByThumbprint.TryGetValue(print, out var byThumbprint) && byThumbprint.Certificate.HasPrivateKey)
            return byThumbprint;
        throw new PolicyRuntimeException($"<authentication-certificate> names the certificate with thumbprint {print}, which is not among the certificates with a private key.");
    }
}
