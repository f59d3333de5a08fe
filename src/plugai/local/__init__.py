"""The local model runner: engines, their worker processes and the manager that loads,
queues and unloads them. Nothing here imports an inference library in the gateway process;
engines import theirs inside the worker."""
