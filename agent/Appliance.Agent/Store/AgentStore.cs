using System.Security.Cryptography;
using System.Text;
using Appliance.Core.Api;
using LiteDB;

namespace Appliance.Agent.Store;

/// <summary>
/// The agent's only database: one LiteDB file in direct mode, opened by this process alone (appliancectl
/// goes through the API). Durability: LiteDB 5.0.20 returns from a commit before its writer thread has
/// written the commit page (seen with strace), so every change the agent reports or acts on is followed
/// by <c>Checkpoint()</c>, which drains that queue and fsyncs the log and the data file.
/// </summary>
public sealed class AgentStore : IDisposable
{
    public const string DatabaseFileName = "appliance.db";
    private const string LockFileName = "agent.lock";
    private const string PidFileName = "agent.pid";
    private const string KeyFileName = "secrets.key";

    private readonly LiteDatabase _db;
    private readonly FileStream _lock;
    private readonly SecretProtector _secrets;
    private readonly TimeProvider _time;
    private readonly int _historyCap;
    /// <summary>
    /// Every access, reads included: LiteDB's Checkpoint clears the page cache and fails ("must have no pages
    /// in use") if anything holds a page at that moment — seen once at start under heavy load, not
    /// reproduced since; serialising reads with the checkpointing writes rules it out at little cost.
    /// </summary>
    private readonly Lock _gate = new();
    private readonly ILiteCollection<HistoryDocument> _history;
    private readonly ILiteCollection<SettingDocument> _settings;
    private readonly ILiteCollection<SecretDocument> _secretDocs;
    private long _historyCount;
    private bool _disposed;

    private AgentStore(LiteDatabase db, FileStream lockFile, SecretProtector secrets, TimeProvider time, int historyCap, string path)
    {
        _db = db;
        _lock = lockFile;
        _secrets = secrets;
        _time = time;
        _historyCap = historyCap;
        DatabasePath = path;
        _history = db.GetCollection<HistoryDocument>("history");
        _settings = db.GetCollection<SettingDocument>("settings");
        _secretDocs = db.GetCollection<SecretDocument>("secrets");
        _historyCount = _history.LongCount();
        Identity = BumpBootCount(db.GetCollection<IdentityDocument>("identity"), time);
    }

    public string DatabasePath { get; }

    /// <summary>This node's persistent identity; <see cref="NodeIdentity.BootCount"/> includes this start.</summary>
    public NodeIdentity Identity { get; }

    /// <summary>
    /// Opens (or on first start creates) the store under <paramref name="dataDir"/>. Fails with a
    /// <see cref="StoreOpenException"/> when the file is corrupt, the password is wrong or another agent
    /// holds it: the store is never silently recreated.
    /// </summary>
    public static AgentStore Open(string dataDir, int historyCap, string? password, TimeProvider time)
    {
        Directory.CreateDirectory(dataDir);
        var lockFile = AcquireLock(dataDir);
        SecretProtector? secrets = null;
        LiteDatabase? db = null;
        var path = Path.Combine(dataDir, DatabaseFileName);
        try
        {
            secrets = SecretProtector.OpenOrCreate(Path.Combine(dataDir, KeyFileName));
            ConnectionString Connection(bool readOnly) => new()
            {
                Filename = path,
                Connection = ConnectionType.Direct,
                Password = string.IsNullOrEmpty(password) ? null : password,
                ReadOnly = readOnly,
            };
            if (File.Exists(path))
            {
                // Verify read-only first: a read-write open of a damaged file lets LiteDB flag it for an
                // automatic rebuild on the next open, which would silently drop data.
                using var probe = new LiteDatabase(Connection(readOnly: true));
                VerifyReadable(probe);
            }

            db = new LiteDatabase(Connection(readOnly: false));
            var store = new AgentStore(db, lockFile, secrets, time, historyCap, path);
            store.Checkpoint();
            return store;
        }
        catch (Exception e) when (e is LiteException or IOException or CryptographicException or InvalidCastException or FormatException)
        {
            db?.Dispose();
            secrets?.Dispose();
            lockFile.Dispose();
            throw new StoreOpenException(DescribeOpenFailure(path, e), e);
        }
    }

    /// <summary>Appends a history event durably and drops the oldest beyond the cap.</summary>
    public long AppendHistory(string kind, string message, string cause)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var id = InsertHistory(_time.GetUtcNow().ToUnixTimeMilliseconds(), kind, message, cause);
            Checkpoint();
            return id;
        }
    }

    /// <summary>The newest <paramref name="limit"/> history entries, newest first.</summary>
    public IReadOnlyList<HistoryEntry> ReadHistory(int limit)
    {
        lock (_gate)
        {
            return _history.Query()
                .OrderByDescending(x => x.Id)
                .Limit(limit)
                .ToEnumerable()
                .Select(d => new HistoryEntry(d.Id, DateTimeOffset.FromUnixTimeMilliseconds(d.TimeMs), d.Kind, d.Message, d.Cause))
                .ToArray();
        }
    }

    public string? ReadSetting(string name)
    {
        lock (_gate)
        {
            return _settings.FindById(name)?.Json;
        }
    }

    public void WriteSetting(string name, string json)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _settings.Upsert(new SettingDocument { Id = name, Json = json });
            Checkpoint();
        }
    }

    /// <summary>Stores a secret encrypted under the agent's key; the plaintext never reaches the file.</summary>
    public void WriteSecret(string name, string plaintext)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _secretDocs.Upsert(new SecretDocument { Id = name, Protected = _secrets.Protect(name, plaintext) });
            Checkpoint();
        }
    }

    public string? ReadSecret(string name)
    {
        SecretDocument? doc;
        lock (_gate)
        {
            doc = _secretDocs.FindById(name);
        }

        return doc is null ? null : _secrets.Unprotect(name, doc.Protected);
    }

    /// <summary>Names of stored secrets with the given prefix (e.g. all API tokens).</summary>
    public IReadOnlyList<string> ListSecretNames(string prefix)
    {
        lock (_gate)
        {
            return _secretDocs.Query().Where(x => x.Id.StartsWith(prefix)).Select(x => x.Id).ToArray();
        }
    }

    /// <summary>Completes in-flight writes, checkpoints and releases the file and its lock.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _db.Checkpoint();
            _db.Dispose();
            _secrets.Dispose();
            _lock.Dispose();
        }
    }

    private long InsertHistory(long timeMs, string kind, string message, string cause)
    {
        var doc = new HistoryDocument { TimeMs = timeMs, Kind = kind, Message = message, Cause = cause };
        _history.Insert(doc);
        _historyCount++;
        if (_historyCount > _historyCap)
        {
            var cutoff = doc.Id - _historyCap;
            _historyCount -= _history.DeleteMany(x => x.Id <= cutoff);
        }

        return doc.Id;
    }

    private void Checkpoint() => _db.Checkpoint();

    private static NodeIdentity BumpBootCount(ILiteCollection<IdentityDocument> identities, TimeProvider time)
    {
        var doc = identities.FindById("node") ?? new IdentityDocument
        {
            NodeId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            CreatedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        doc.BootCount++;
        identities.Upsert(doc);
        return new NodeIdentity(doc.NodeId, doc.BootCount);
    }

    /// <summary>Reads every document once, so a corrupt page stops the agent now rather than mid-failover.</summary>
    private static void VerifyReadable(LiteDatabase db)
    {
        foreach (var name in db.GetCollectionNames())
        {
            foreach (var doc in db.GetCollection(name).FindAll())
            {
                _ = doc["_id"];
            }
        }
    }

    private static FileStream AcquireLock(string dataDir)
    {
        var pidPath = Path.Combine(dataDir, PidFileName);
        try
        {
            // FileShare.None is an exclusive flock() on Unix: a second agent on the same data dir fails here.
            var stream = new FileStream(Path.Combine(dataDir, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(pidPath, $"{Environment.ProcessId}\n");
            return stream;
        }
        catch (IOException e)
        {
            var holder = File.Exists(pidPath) ? $" (pid {File.ReadAllText(pidPath).Trim()})" : "";
            throw new StoreOpenException($"store in '{dataDir}' is locked by another agent{holder}: stop it first", e);
        }
    }

    private static string DescribeOpenFailure(string path, Exception e) => e switch
    {
        LiteException { ErrorCode: LiteException.INVALID_PASSWORD } =>
            $"store '{path}' cannot be opened: wrong password (Appliance:Store:PasswordFile)",
        CryptographicException =>
            $"store '{path}' cannot be opened: its secrets key file is damaged or belongs to another store ({e.Message})",
        _ => $"store '{path}' cannot be opened: {e.Message.TrimEnd('.')}; it is not recreated — restore it from a backup or move it aside",
    };
}

/// <summary>This node's persistent identity.</summary>
public sealed record NodeIdentity(string NodeId, long BootCount);
