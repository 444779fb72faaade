using Appliance.Core.Ports;

namespace Appliance.Core.Panel;

/// <summary>
/// Random passwords a technician can copy from a 5×8-dot LCD without ambiguity:
/// no 0/O/o, 1/l/I, 5/S/s, 2/Z/z, 8/B.
/// </summary>
public static class PanelPassword
{
    public const string Alphabet = "34679ACDEFGHJKLMNPQRTUVWXYabcdefghijkmnpqrtuvwxy";

    public const int DefaultLength = 12;

    public static string Generate(ISecureRandom random, int length = DefaultLength)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, DefaultLength);

        // Rejection sampling keeps every character equally likely (a plain modulo would favour the first ones).
        var limit = 256 - (256 % Alphabet.Length);
        var chars = new char[length];
        Span<byte> buffer = stackalloc byte[32];
        var filled = 0;
        var used = buffer.Length;
        while (filled < length)
        {
            if (used == buffer.Length)
            {
                random.Fill(buffer);
                used = 0;
            }

            var b = buffer[used++];
            if (b < limit)
            {
                chars[filled++] = Alphabet[b % Alphabet.Length];
            }
        }

        return new string(chars);
    }
}
