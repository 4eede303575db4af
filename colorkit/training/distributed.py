"""Training on several processes with ``torch.distributed``, as launched by ``torchrun``.

``torchrun --nproc-per-node N -m colorkit run RECIPE`` starts N copies of ``colorkit run``; each reads
RANK, WORLD_SIZE and LOCAL_RANK from the environment, joins one process group (gloo on CPU, nccl on
CUDA, one GPU per LOCAL_RANK) and trains a DistributedDataParallel copy of the network on its share of
every global batch. Rank 0 alone writes the run directory. Without torchrun (WORLD_SIZE unset or 1)
every helper here is a no-op, so the trainer has one code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from colorkit.errors import ColorkitError


@dataclass
class World:
    """This process's place in the group: ``rank`` of ``size``; ``device`` is the one it trains on."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device | None = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank (any picklable value)."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.active:
            return [obj]
        out: list = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over the ranks (float64, so counts stay exact)."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def max(self, value: int) -> int:
        """The largest ``value`` over the ranks."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return int(t.item())

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` under DistributedDataParallel (gradients averaged over the ranks)."""
        if not self.active:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


_world = World()


def current() -> World:
    """The world set up by :func:`setup` (a single process before that, or without torchrun)."""
    return _world


def setup(device_name: str) -> World:
    """Join the process group torchrun describes; ``device_name`` is the recipe's ``train.device``."""
    global _world
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1 or _world.active:
        return _world
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device_name not in ("auto", "cpu", "cuda"):
        raise ColorkitError(f"train.device = '{device_name}': under torchrun each process uses cuda:LOCAL_RANK; set \"auto\", \"cuda\" or \"cpu\"")
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise ColorkitError("train.device = 'cuda', but CUDA is not available here; use \"auto\" or \"cpu\"")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise ColorkitError(f"LOCAL_RANK {local_rank}: this node has {torch.cuda.device_count()} GPUs; start at most that many processes per node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    _world = World(rank=rank, size=dist.get_world_size(), local_rank=local_rank, device=device)
    return _world


def shutdown() -> None:
    """Leave the process group (at the end of ``colorkit run``)."""
    global _world
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _world = World()


def check_batch(batch_size: int, world: World) -> None:
    """``train.batch_size`` is the global batch: it must split evenly over the processes."""
    if world.active and batch_size % world.size:
        raise ColorkitError(
            f"train.batch_size = {batch_size} is the global batch and must be divisible by the {world.size} "
            f"processes (each trains on batch_size / {world.size}); choose a multiple of {world.size}"
        )


class ShardBatches(Sampler[list[int]]):
    """Global batches of ``batch_size`` from ``sampler`` (an :class:`EpochSampler`), this rank's slice of each.

    Rank r gets items ``[r*b, (r+1)*b)`` of every global batch (b = batch_size / world size), so the
    ranks together see exactly the batches one process would, and a resume offset (``sampler.start``)
    means the same on every rank. Every rank yields the same number of batches; in the last, short one
    a rank's slice may be empty.
    """

    def __init__(self, sampler, batch_size: int, world: World):
        self.sampler, self.batch_size, self.world = sampler, batch_size, world
        self.local = batch_size // world.size

    def offset(self) -> int:
        """Where this rank's slice starts inside a global batch."""
        return self.world.rank * self.local

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.batch_size)

    def __iter__(self):
        order = list(self.sampler)
        lo = self.offset()
        for i in range(0, len(order), self.batch_size):
            yield order[i : i + self.batch_size][lo : lo + self.local]
