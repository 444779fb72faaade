namespace Appliance.Hw.Bmc;

/// <summary>Why a BMC operation failed; callers (fencing, API) act on the kind, not the text.</summary>
public enum BmcErrorKind
{
    /// <summary>Nothing answered at the BMC's address (or the local device is absent).</summary>
    Unreachable,

    /// <summary>The BMC answered but refused the user name or password.</summary>
    AuthenticationFailed,

    /// <summary>The command did not finish within the per-command timeout.</summary>
    Timeout,

    /// <summary>The BMC answered and rejected the request (privilege, invalid command, bad value).</summary>
    Rejected,

    /// <summary>The adapter cannot do this operation (documented per adapter).</summary>
    Unsupported,

    /// <summary>The BMC's answer could not be understood.</summary>
    InvalidResponse,

    /// <summary>The management tool (ipmitool, racadm) is not installed.</summary>
    ToolMissing,

    /// <summary>The BMC's TLS certificate is not trusted (wrong pin, or not valid under system trust).</summary>
    UntrustedCertificate,
}

/// <summary>A BMC operation failed; the message names the BMC and the cause, never a secret.</summary>
public sealed class BmcException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BmcException(BmcErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException) => Kind = kind;

    /// <summary>Creates an exception of kind <see cref="BmcErrorKind.InvalidResponse"/>.</summary>
    public BmcException() : this(BmcErrorKind.InvalidResponse, "invalid BMC response") { }

    /// <summary>Creates an exception of kind <see cref="BmcErrorKind.InvalidResponse"/>.</summary>
    public BmcException(string message) : this(BmcErrorKind.InvalidResponse, message) { }

    /// <summary>Creates an exception of kind <see cref="BmcErrorKind.InvalidResponse"/>.</summary>
    public BmcException(string message, Exception innerException) : this(BmcErrorKind.InvalidResponse, message, innerException) { }

    /// <summary>The failure class.</summary>
    public BmcErrorKind Kind { get; }
}

/// <summary>A request value is out of range; thrown before anything is sent to the BMC.</summary>
public sealed class BmcValidationException : ArgumentException
{
    private readonly string? _text;

    /// <summary>Creates the exception; <paramref name="shownValue"/> is already redacted for secrets.</summary>
    public BmcValidationException(string field, string shownValue, string allowed)
        : base(Format(field, shownValue, allowed), field)
    {
        _text = Format(field, shownValue, allowed);
        Field = field;
        Allowed = allowed;
    }

    /// <summary>Creates the exception.</summary>
    public BmcValidationException() : this("value", "", "invalid") { }

    /// <summary>Creates the exception.</summary>
    public BmcValidationException(string message) : base(message)
    {
        Field = "value";
        Allowed = message;
    }

    /// <summary>Creates the exception.</summary>
    public BmcValidationException(string message, Exception innerException) : base(message, innerException)
    {
        Field = "value";
        Allowed = message;
    }

    /// <summary>The one line shown to operators; ArgumentException would append "(Parameter '…')" to it.</summary>
    public override string Message => _text ?? base.Message;

    private static string Format(string field, string shownValue, string allowed) => $"{field} '{shownValue}' is invalid: {allowed}";

    /// <summary>The request field that is wrong.</summary>
    public string Field { get; }

    /// <summary>The allowed range, in words.</summary>
    public string Allowed { get; }
}
