using System.CommandLine;
using Appliance.Core.Api;

namespace Appliance.Ctl.Commands;

/// <summary><c>appliancectl token create NAME</c>: a bearer token for automation over TCP, shown once.</summary>
public static class TokenCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Token name (1 to 32 of A-Z a-z 0-9 . _ -)" };
        var create = new Command("create", "Create (or replace) a named API token; it is printed once and stored only hashed") { name };
        create.SetAction((parse, ct) => CtlCommand.RunAsync(parse, async (client, token) =>
        {
            var created = await client.PostAsync("api/v1/tokens", new CreateTokenRequest(parse.GetValue(name)!),
                ApiJsonContext.Default.CreateTokenRequest, ApiJsonContext.Default.CreatedToken, token).ConfigureAwait(false);
            Console.Out.WriteLine(created.Token);
            return ExitCodes.Ok;
        }, ct));
        return new Command("token", "Manage API bearer tokens") { create };
    }
}
