// The benchmarks start real Linux processes and read /proc.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
