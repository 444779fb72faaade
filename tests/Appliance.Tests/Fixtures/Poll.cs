using System.Diagnostics;

namespace Appliance.Tests.Fixtures;

/// <summary>Waits for a condition on real processes: polls, and fails naming what was awaited and what was seen.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"not within {timeout.TotalSeconds:0.#} s: {what()}");
            }

            await Task.Delay(20);
        }
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>The first answer (any status) of a listener that may not be up yet; the caller disposes it.</summary>
    public static async Task<HttpResponseMessage> FirstAnswerAsync(HttpClient http, string path, TimeSpan timeout, Func<string> what)
    {
        HttpResponseMessage? answer = null;
        await UntilAsync(async () =>
        {
            try
            {
                answer = await http.GetAsync(new Uri(path, UriKind.Relative));
                return true;
            }
            catch (HttpRequestException)
            {
                return false; // not listening yet
            }
        }, timeout, what);
        return answer!;
    }
}
