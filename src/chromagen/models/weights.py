"""Saving and loading trained generators: safetensors (shipped) or Lightning checkpoints (training).

A weights file is self-describing: its metadata names the registered architecture and its kwargs, so
``load_generator(path)`` needs nothing else.
"""

import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from chromagen.catalog import bundled_entry, bundled_names
from chromagen.errors import ChromagenError
from chromagen.models.registry import create_model

FORMAT_VERSION = "1"


def save_generator(model: nn.Module, name: str, kwargs: dict[str, Any], path: str | Path,
                   half: bool = True, extra: dict[str, str] | None = None) -> Path:
    """Write the generator's state as safetensors (fp16 by default: half the size, same colors)."""
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu()
             for k, v in model.state_dict().items()}
    meta = {"format": FORMAT_VERSION, "model": name, "kwargs": json.dumps(kwargs), **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    save_file(state, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def _from_safetensors(path: Path) -> tuple[nn.Module, dict[str, str]]:
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if "model" not in meta:
        raise ChromagenError(f"{path}: not a chromagen weights file (no model metadata)")
    model = create_model(meta["model"], **{**json.loads(meta.get("kwargs", "{}")), "pretrained": False})
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    model.load_state_dict(state)
    return model, meta


def _from_lightning(path: Path) -> tuple[nn.Module, dict[str, str]]:
    # weights_only: a checkpoint someone hands you must not be able to run code when unpickled.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's pickle-protocol notes are not the user's business
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    recipe = ckpt.get("hyper_parameters", {}).get("recipe")
    if not recipe:
        raise ChromagenError(f"{path}: not a chromagen training checkpoint (no recipe inside)")
    name, kwargs = recipe["model"]["name"], recipe["model"].get("kwargs", {})
    model = create_model(name, **{**kwargs, "pretrained": False})
    prefix = "generator."
    model.load_state_dict({k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)})
    return model, {"model": name, "kwargs": json.dumps(kwargs), "step": str(ckpt.get("global_step", ""))}


def load_generator(path: str | Path) -> tuple[nn.Module, dict[str, str]]:
    """Build and load a generator from a .safetensors or Lightning .ckpt file, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise ChromagenError(f"{path}: model file not found")
    try:
        model, meta = _from_lightning(path) if path.suffix == ".ckpt" else _from_safetensors(path)
    except ChromagenError:
        raise
    except pickle.UnpicklingError:
        raise ChromagenError(f"{path}: refused: the checkpoint holds Python objects beyond tensors and plain "
                             f"values, which could run code when loaded") from None
    except (SafetensorError, RuntimeError, KeyError, ValueError, OSError, EOFError, TypeError, AttributeError,
            IndexError) as exc:
        raise ChromagenError(f"{path}: cannot load model ({' '.join(str(exc).split())[:200]})") from exc
    return model.eval(), meta


def bundled_path(name: str) -> Path:
    """Path of a model shipped inside the package (``default`` and friends), from the weights catalogue."""
    entry = bundled_entry(name)
    if entry is None:
        raise ChromagenError(f"no bundled model called {name!r}; bundled: {', '.join(bundled_names())}")
    return entry.path
