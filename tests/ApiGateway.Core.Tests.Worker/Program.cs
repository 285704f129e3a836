// Test worker: changes a configuration file through ConfigurationStore from a separate process.
//   append-backends <config> <worker> <count>   adds backends w<worker>-<i>, printing the revision each change wrote
//   churn <config>                              rewrites a large API policy forever, printing each revision written
using System.Globalization;
using ApiGateway.Core.Configuration;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: append-backends <config> <worker> <count> | churn <config>");
    return 2;
}
var store = new ConfigurationStore(args[1], TimeSpan.FromMinutes(2));
switch (args[0])
{
    case "append-backends":
    {
        var worker = args[2];
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            var id = $"w{worker}-{i}";
            var change = store.Update(c => c with
            {
                Backends = c.Backends.Add(id, new BackendEntry { Url = $"https://{id}.example.com/" }),
            });
            Console.WriteLine(change.After.Revision.ToString(CultureInfo.InvariantCulture));
        }
        return 0;
    }
    case "churn":
    {
        // Each write replaces API 'big' with a policy of ~200 KB whose every line names the revision, so a reader
        // can tell a whole file from a torn one, and the write takes long enough to be killed in the middle.
        var lines = Enumerable.Range(0, 4000).Select(i => $"    <set-header name=\"x-{i}\" exists-action=\"override\"><value>REV</value></set-header>");
        var template = "<policies>\n  <inbound>\n    <base />\n" + string.Join("\n", lines) + "\n  </inbound>\n</policies>";
        while (true)
        {
            var change = store.Update(c =>
            {
                var next = (c.Revision + 1).ToString(CultureInfo.InvariantCulture);
                return c with
                {
                    Apis = c.Apis.SetItem("big", new ApiEntry { DisplayName = "rev " + next, Path = "big", ServiceUrl = "https://big.example.com/", Policy = template.Replace("REV", next, StringComparison.Ordinal) }),
                };
            });
            Console.WriteLine(change.After.Revision.ToString(CultureInfo.InvariantCulture));
        }
    }
    default:
        Console.Error.WriteLine($"unknown command '{args[0]}'");
        return 2;
}
