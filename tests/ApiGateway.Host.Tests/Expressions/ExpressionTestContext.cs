using System.Security.Cryptography.X509Certificates;
using ApiGateway.Host.Context;
using ApiGateway.Host.Expressions;
using Microsoft.AspNetCore.Http;

namespace ApiGateway.Host.Tests.Expressions;

/// <summary>Compiles single expressions and runs them against a context over a plain HttpContext (no server).</summary>
internal static class ExpressionTestContext
{
    public static ExpressionCompileResult Compile(string code, ExpressionKind kind = ExpressionKind.Condition, bool block = false) =>
        ExpressionCompiler.Compile([new ExpressionKey(kind, block, code)]);

    public static string Problems(ExpressionCompileResult result) =>
        string.Join(" | ", result.Problems.Values.SelectMany(p => p).Select(p => $"{p.Line}:{p.Column} {p.Message}"));

    public static CompiledExpression Compiled(string code, ExpressionKind kind = ExpressionKind.Condition, bool block = false)
    {
        var result = Compile(code, kind, block);
        Assert.True(result.Problems.Count == 0, Problems(result));
        return result.Compiled.Values.Single();
    }

    public static PolicyContext NewContext(X509Certificate2? certificate = null, Action<HttpContext>? configure = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Scheme = "https";
        http.Request.Host = new HostString("localhost", 8443);
        http.Request.Path = "/orders/1";
        http.Request.QueryString = new QueryString("?a=1");
        configure?.Invoke(http);
        var context = new PolicyContext();
        context.Request.Attach(http.Request);
        context.Response.Attach(http.Response);
        context.State.Http = http;
        context.State.ClientCertificate = certificate;
        return context;
    }
}
