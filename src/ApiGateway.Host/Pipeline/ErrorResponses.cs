using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ApiGateway.Host.Pipeline;

/// <summary>The JSON bodies of the gateway's own answers: <c>{"statusCode":403,"error":"...","message":"...","requestId":"..."}</c>.</summary>
internal static class ErrorResponses
{
    // Readable quotes and apostrophes in messages; these bodies are JSON for programs and people, never HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>404 for a path no API serves.</summary>
    public static Task WriteNotFoundAsync(HttpContext http, string path) =>
        WriteAsync(http, StatusCodes.Status404NotFound, null, "ApiNotFound", $"No API is configured for the path '{path}'.", null, null);

    /// <summary>The default answer to <paramref name="error"/>.</summary>
    public static Task WriteAsync(HttpContext http, PipelineError error, Guid requestId) =>
        WriteAsync(http, error.StatusCode, error.ReasonPhrase, error.Code, error.Message, error.Backend, requestId);

    public static async Task WriteAsync(HttpContext http, int statusCode, string? reasonPhrase, string code, string message, string? backend, Guid? requestId)
    {
        var response = http.Response;
        if (response.HasStarted)
        {
            http.Abort();
            return;
        }
        response.StatusCode = statusCode;
        if (reasonPhrase is not null)
            http.Features.GetRequiredFeature<IHttpResponseFeature>().ReasonPhrase = reasonPhrase;
        response.ContentType = "application/json; charset=utf-8";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber("statusCode", statusCode);
            json.WriteString("error", code);
            json.WriteString("message", message);
            if (backend is not null)
                json.WriteString("backend", backend);
            if (requestId is { } id)
                json.WriteString("requestId", id);
            json.WriteEndObject();
        }
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
    }
}
