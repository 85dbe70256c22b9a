using BuildStatus.Internal;
using BuildStatus.Persistence;
using BuildStatus.Pipeline;
using BuildStatus.Storage;

namespace BuildStatus.Process;

/// <summary>A worker: connection state, what it reported, and the builds running on it.</summary>
internal sealed class Worker : PersistedEntity, IWorker
{
    private static readonly IReadOnlyDictionary<string, string> NoInfo = new Dictionary<string, string>();

    private readonly HostContext _ctx;

    // Guards every field below.
    private readonly Lock _sync = new();
    private string? _host;
    private IReadOnlyDictionary<string, string> _info = NoInfo;
    private volatile bool _connected;
    private DateTimeOffset? _lastSeen;
    private readonly List<Build> _running = [];
    private IReadOnlyList<IBuildStatus> _runningView = [];

    public Worker(HostContext ctx, string name)
    {
        _ctx = ctx;
        Name = name;
    }

    public string Name { get; }

    internal override Lock SyncRoot => _sync;

    public string? Host
    {
        get
        {
            lock (_sync)
            {
                return _host;
            }
        }
    }

    public IReadOnlyDictionary<string, string> Info => Volatile.Read(ref _info);

    public bool IsConnected => _connected;

    public DateTimeOffset? LastSeen
    {
        get
        {
            lock (_sync)
            {
                return _lastSeen;
            }
        }
    }

    public IReadOnlyList<IBuildStatus> RunningBuilds => Volatile.Read(ref _runningView);

    public IPersistentWorker Persistent
    {
        get
        {
            lock (_sync)
            {
                return new PersistentWorker(Snapshot());
            }
        }
    }

    internal void Register()
    {
        lock (_sync)
        {
            _ctx.Pipeline.MarkDirty(this);
        }
    }

    public void Connect(string? host = null, IReadOnlyDictionary<string, string>? info = null)
    {
        _ctx.ThrowIfStopped(this);
        Dictionary<string, string>? copy = null;
        if (info is not null)
        {
            copy = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in info)
            {
                copy[Guard.Text(key ?? throw new ArgumentException("info has a null key.", nameof(info)))] =
                    Guard.Text(value ?? throw new ArgumentException($"info['{key}'] is null.", nameof(info)));
            }
        }

        lock (_sync)
        {
            _host = Guard.OptionalText(host) ?? _host;
            if (copy is not null)
            {
                Volatile.Write(ref _info, copy.AsReadOnly());
            }

            _connected = true;
            _lastSeen = _ctx.Now;
            _ctx.Pipeline.MarkDirty(this);
            _ctx.Publish(this, static (w, t) => new WorkerConnected(w) { Timestamp = t });
        }

        _ctx.Host.OnWorkerChanged(this);
    }

    public void Disconnect()
    {
        _ctx.ThrowIfStopped(this);
        lock (_sync)
        {
            if (!_connected)
            {
                return;
            }

            _connected = false;
            _lastSeen = _ctx.Now;
            _ctx.Pipeline.MarkDirty(this);
            _ctx.Publish(this, static (w, t) => new WorkerDisconnected(w) { Timestamp = t });
        }

        _ctx.Host.OnWorkerChanged(this);
    }

    public void Touch()
    {
        _ctx.ThrowIfStopped(this);
        lock (_sync)
        {
            _lastSeen = _ctx.Now;
            _ctx.Pipeline.MarkDirty(this);
        }
    }

    internal void AddRunning(Build build)
    {
        lock (_sync)
        {
            _running.Add(build);
            Volatile.Write(ref _runningView, _running.ToArray());
        }
    }

    internal void RemoveRunning(Build build)
    {
        lock (_sync)
        {
            if (_running.Remove(build))
            {
                Volatile.Write(ref _runningView, _running.ToArray());
            }
        }
    }

    // Caller holds _sync.
    private StoredWorker Snapshot() => new(Name, _host, _info, _connected, _lastSeen);

    internal override void AppendTo(EntitySnapshot snapshot) => snapshot.Row = Snapshot();

    public override string ToString() => $"worker '{Name}'";
}
