// Every fixture works in its own database (and every conformance test in its own schema) of the one throw-away
// cluster the run starts, so all of them may run at once.
[assembly: Parallelizable(ParallelScope.All)]
