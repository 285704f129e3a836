using System.Management.Automation;
using ApiGateway.Core;
using ApiGateway.PowerShell.Infrastructure;

namespace ApiGateway.PowerShell.Tests.Infrastructure;

public sealed class ErrorMappingTests
{
    [Theory]
    [InlineData(GatewayErrorCategory.NotFound, ErrorCategory.ObjectNotFound)]
    [InlineData(GatewayErrorCategory.AlreadyExists, ErrorCategory.ResourceExists)]
    [InlineData(GatewayErrorCategory.InvalidArgument, ErrorCategory.InvalidArgument)]
    [InlineData(GatewayErrorCategory.InUse, ErrorCategory.ResourceBusy)]
    [InlineData(GatewayErrorCategory.SecurityError, ErrorCategory.SecurityError)]
    [InlineData(GatewayErrorCategory.InvalidData, ErrorCategory.InvalidData)]
    [InlineData(GatewayErrorCategory.ReadError, ErrorCategory.ReadError)]
    [InlineData(GatewayErrorCategory.WriteError, ErrorCategory.WriteError)]
    [InlineData(GatewayErrorCategory.Unavailable, ErrorCategory.ResourceUnavailable)]
    [InlineData(GatewayErrorCategory.InvalidOperation, ErrorCategory.InvalidOperation)]
    [InlineData(GatewayErrorCategory.NotSupported, ErrorCategory.NotImplemented)]
    // object: GatewayErrorCategory is internal to Core, and a public test method cannot take it.
    public void Category_MapsEachCoreCategoryToItsPowerShellCategory(object core, ErrorCategory expected)
    {
        Assert.Equal(expected, ErrorMapping.Category((GatewayErrorCategory)core));
    }

    [Fact]
    public void Category_CoversEveryCoreCategory()
    {
        foreach (var value in Enum.GetValues<GatewayErrorCategory>())
            Assert.NotEqual(ErrorCategory.NotSpecified, ErrorMapping.Category(value));
    }

    [Fact]
    public void Map_FailureAboutTheCmdletsOwnNoun_IsVerbNounCondition()
    {
        var ex = new GatewayException("Certificate", "InUse", GatewayErrorCategory.InUse, "in use", "backend-2025");

        var mapped = ErrorMapping.Map("Remove", "GatewayCertificate", ex);

        Assert.Equal("RemoveGatewayCertificateInUse", mapped.ErrorId);
        Assert.Equal(ErrorCategory.ResourceBusy, mapped.Category);
        Assert.Equal("backend-2025", mapped.Target);
        Assert.False(mapped.Terminating);
    }

    [Theory]
    [InlineData("Set", "ApiGatewayCredential", "Certificate", "NotFound", "SetApiGatewayCredentialCertificateNotFound")]
    [InlineData("Set", "ApiGatewayCredential", "Api", "NotFound", "SetApiGatewayCredentialNotFound")]
    [InlineData("Set", "GatewayHostname", "Certificate", "NotFound", "SetGatewayHostnameCertificateNotFound")]
    [InlineData("Set", "GatewayHostname", "Hostname", "InvalidPort", "SetGatewayHostnameInvalidPort")]
    [InlineData("Set", "GatewayPolicy", "Api", "NotFound", "SetGatewayPolicyApiNotFound")]
    [InlineData("Set", "GatewayPolicy", "Policy", "Invalid", "SetGatewayPolicyInvalid")]
    [InlineData("New", "GatewayApi", "Backend", "NotFound", "NewGatewayApiBackendNotFound")]
    [InlineData("New", "GatewayBackend", "Backend", "CertificateNotFound", "NewGatewayBackendCertificateNotFound")]
    [InlineData("Add", "GatewayCaCertificate", "Certificate", "WrongPassword", "AddGatewayCaCertificateWrongPassword")]
    [InlineData("Get", "GatewayCertificateReference", "Certificate", "NotFound", "GetGatewayCertificateReferenceNotFound")]
    [InlineData("Add", "GatewayCertificate", "CertificateStore", "Damaged", "AddGatewayCertificateCertificateStoreDamaged")]
    [InlineData("New", "GatewayContext", "Configuration", "FolderNotFound", "NewGatewayContextFolderNotFound")]
    [InlineData("Get", "GatewayApi", "Configuration", "NotFound", "GetGatewayApiConfigurationNotFound")]
    public void Map_FailureAboutSomethingElse_KeepsTheCoreSubjectSoIdsStayDistinct(string verb, string noun, string subject, string condition, string expected)
    {
        var ex = new GatewayException(subject, condition, GatewayErrorCategory.NotFound, "message");

        Assert.Equal(expected, ErrorMapping.Map(verb, noun, ex).ErrorId);
    }

    [Fact]
    public void Map_UnusableConfiguration_IsTerminatingAndOtherFailuresAreNot()
    {
        var config = new GatewayException("Configuration", "Unreadable", GatewayErrorCategory.InvalidData, "bad json", "/x/gateway.json");
        var item = new GatewayException("Backend", "NotFound", GatewayErrorCategory.NotFound, "no backend", "b");

        Assert.True(ErrorMapping.Map("Get", "GatewayBackend", config).Terminating);
        Assert.False(ErrorMapping.Map("Get", "GatewayBackend", item).Terminating);
    }

    [Fact]
    public void Map_WithoutTarget_UsesTheSubject()
    {
        var ex = new GatewayException("Configuration", "Locked", GatewayErrorCategory.Unavailable, "locked");

        Assert.Equal("Configuration", ErrorMapping.Map("Set", "GatewayApi", ex).Target);
    }

    [Theory]
    [InlineData("GatewayCertificate", "Certificate")]
    [InlineData("GatewayCaCertificate", "CaCertificate")]
    [InlineData("ApiGatewayCredential", "ApiGatewayCredential")]
    [InlineData("GatewayContext", "Context")]
    public void NounSubject_DropsTheGatewayPrefixOnly(string noun, string expected)
    {
        Assert.Equal(expected, ErrorMapping.NounSubject(noun));
    }
}
