using NUnit.Framework;

// Every test works in its own temporary directory, so all of them may run at once.
[assembly: Parallelizable(ParallelScope.All)]
