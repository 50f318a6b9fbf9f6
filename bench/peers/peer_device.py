"""Where the PyTorch peers run, decided in one place. With a GPU that torch can see, CUDA eager in fp32
(TF32 off: the engine's kernels are fp32), as the benchmarks issue asks on GPU machines; otherwise the CPU
with the fair-peer settings of machine-notes.md. DNER_TORCH_DEVICE=cpu|cuda forces one. torch must be
imported through `start`, which sets OPENBLAS_NUM_THREADS first.
"""
import json
import os
import sys


def start(openblas_threads, torch_threads=None):
    """Returns (torch, device, label, sync): sync() waits for queued GPU work (nothing on the CPU)."""
    os.environ["OPENBLAS_NUM_THREADS"] = str(openblas_threads)
    import torch

    device = os.environ.get("DNER_TORCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        if hasattr(torch, "set_default_device"):
            torch.set_default_device("cuda")
        else:  # torch < 2.0
            torch.set_default_tensor_type(torch.cuda.FloatTensor)
        return torch, device, f"cuda ({torch.cuda.get_device_name(0)}, torch {torch.__version__} eager, fp32)", torch.cuda.synchronize
    if torch_threads:
        torch.set_num_threads(torch_threads)
    return torch, device, f"cpu (torch {torch.__version__}, {torch.get_num_threads()} threads)", lambda: None


def peak_memory(torch, device):
    """(value, unit) of the run's peak memory: CUDA allocations on a GPU, the process's RSS on the CPU."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20, "MiB (CUDA allocated)"
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MiB (process RSS)"


def read_job():
    """The job runPeer (bench/common.ts) passes: JSON as the first argument, or on stdin when that is `-`."""
    arg = sys.argv[1]
    return json.loads(sys.stdin.read() if arg == "-" else arg)
