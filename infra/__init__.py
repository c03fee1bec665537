"""Running jobstream: the embedded dev stack (make run, test fixtures), compose and Kubernetes files."""
