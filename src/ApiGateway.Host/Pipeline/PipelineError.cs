using ApiGateway.Core.Policies;
using ApiGateway.Host.Context;

namespace ApiGateway.Host.Pipeline;

/// <summary>What sends a request to on-error, and the response the client gets when on-error does not answer itself.</summary>
internal sealed class PipelineError
{
    public PipelineError(int statusCode, string code, string message, string source, PolicySectionKind section, string? reasonPhrase = null, string? backend = null)
    {
        StatusCode = statusCode;
        Code = code;
        Message = message;
        Source = source;
        Section = section;
        ReasonPhrase = reasonPhrase;
        Backend = backend;
    }

    public int StatusCode { get; }

    /// <summary>A stable reason, e.g. <c>ClientCertificateNotValid</c> (APIM's context.LastError.Reason).</summary>
    public string Code { get; }

    /// <summary>A sentence for the client (never a secret).</summary>
    public string Message { get; }

    /// <summary>The element that failed.</summary>
    public string Source { get; }

    /// <summary>The section that was running.</summary>
    public PolicySectionKind Section { get; }

    public string? ReasonPhrase { get; }

    /// <summary>The backend involved, for backend failures.</summary>
    public string? Backend { get; }

    public PolicyLastError ToLastError() => new(Source, Code, Message, Section.XmlName(), null);
}

/// <summary>A policy that cannot do what it says at run time (e.g. an expression named a backend that does not exist).</summary>
internal sealed class PolicyRuntimeException : Exception
{
    public PolicyRuntimeException(string message)
        : base(message)
    {
    }

    public PolicyRuntimeException()
    {
    }

    public PolicyRuntimeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
