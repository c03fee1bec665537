"""Worker registry: the Faust app that tracks executors' health and capabilities."""
