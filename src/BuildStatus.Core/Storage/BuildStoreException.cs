namespace BuildStatus.Storage;

/// <summary>Storage failed; <see cref="Exception.InnerException"/> holds the backend's error.</summary>
public class BuildStoreException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="BuildStoreException"/> class.</summary>
    public BuildStoreException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BuildStoreException"/> class.</summary>
    /// <param name="message">What failed.</param>
    public BuildStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BuildStoreException"/> class.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public BuildStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
