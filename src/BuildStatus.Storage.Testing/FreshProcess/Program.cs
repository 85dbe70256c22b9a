using System.Reflection;

namespace BuildStatus.Storage.Testing.FreshProcess;

/// <summary>
/// The helper the conformance suite starts to open a store in a fresh process:
/// <c>dotnet exec --runtimeconfig T.runtimeconfig.json --depsfile T.deps.json BuildStatus.Storage.Testing.dll dump
/// T.dll FixtureType directory</c>. It creates the fixture (the backend's subclass of
/// <see cref="BuildStoreConformanceTests"/>), calls its <c>CreateStore(directory)</c>, initializes the store and
/// writes <see cref="StoreDump"/> of it to standard output.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 4 || args[0] != "dump")
        {
            await Console.Error.WriteLineAsync("usage: dump <test assembly> <fixture type> <directory>");
            return 2;
        }

        try
        {
            var type = Assembly.LoadFrom(args[1]).GetType(args[2], throwOnError: true)!;
            var fixture = (BuildStoreConformanceTests)Activator.CreateInstance(type, nonPublic: true)!;
            var store = fixture.CreateStoreInFreshProcess(args[3]);
            await using (store)
            {
                await store.InitializeAsync();
                Console.OutputEncoding = System.Text.Encoding.UTF8;
                await Console.Out.WriteAsync(await StoreDump.WriteAsync(store));
                await Console.Out.FlushAsync();
            }

            return 0;
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync(ex.ToString());
            return 1;
        }
    }
}
