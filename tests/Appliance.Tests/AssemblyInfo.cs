// The suite drives real Linux processes, sockets and signals; Windows paths are covered by their own adapters' fakes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
