"""What a Beam worker imports to run a translated pipeline, tried in this interpreter
(a test helper: tests/test_dataflow_staging.py runs it in a fresh venv).

    python worker_imports.py PIPELINE_PROTO PICKLE_LIBRARY PACKAGE

Like an SDK worker, it unpickles every DoFn, CombineFn, coder and windowing strategy of the
pipeline (which imports the modules their classes live in, and those modules' imports), then
imports what the loaded modules of PACKAGE import inside their functions (the imports a
worker meets only when it runs them; imports guarded by `try` are left out, as optional).
Prints one JSON object: the user functions loaded, PACKAGE's modules, the function-level
imports tried, and every failure as "what: error".
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import traceback


def _unpickle_all(proto_path: str, failures: list[str]) -> list[str]:
  from apache_beam.internal import pickler
  from apache_beam.portability import common_urns, python_urns
  from apache_beam.portability.api import beam_runner_api_pb2
  from apache_beam.runners import pipeline_context

  with open(proto_path, "rb") as f:
    proto = beam_runner_api_pb2.Pipeline.FromString(f.read())
  loaded = []

  def load(what: str, payload: bytes):
    try:
      obj = pickler.loads(payload)
    except Exception:  # pylint: disable=broad-except
      failures.append(f"{what}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
      return
    fn = obj[0] if isinstance(obj, tuple) else obj
    fn = getattr(fn, "_fn", fn)  # beam.Map/FlatMap: the wrapped function.
    kind = fn if callable(fn) and hasattr(fn, "__qualname__") else type(fn)
    loaded.append(f"{what}: {kind.__module__}.{kind.__qualname__}")

  for transform in proto.components.transforms.values():
    spec = transform.spec
    if spec.urn == common_urns.primitives.PAR_DO.urn:
      do_fn = beam_runner_api_pb2.ParDoPayload.FromString(spec.payload).do_fn
      if do_fn.urn == python_urns.PICKLED_DOFN_INFO:
        load(transform.unique_name, do_fn.payload)
    elif "combine" in spec.urn:
      combine_fn = beam_runner_api_pb2.CombinePayload.FromString(spec.payload).combine_fn
      if combine_fn.urn == python_urns.PICKLED_COMBINE_FN:
        load(transform.unique_name, combine_fn.payload)
  context = pipeline_context.PipelineContext(proto.components)
  for kind, ids in (("coder", proto.components.coders), ("windowing", proto.components.windowing_strategies)):
    for key in ids:
      try:
        getattr(context, "coders" if kind == "coder" else "windowing_strategies").get_by_id(key)
      except Exception:  # pylint: disable=broad-except
        failures.append(f"{kind} {key}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
  return loaded


def _function_level_imports(module) -> set[str]:
  """Modules imported inside functions of `module`, outside `try` blocks."""
  tree = ast.parse(open(module.__file__, encoding="utf-8").read())
  found: set[str] = set()

  def visit(node, in_function: bool, in_try: bool):
    for child in ast.iter_child_nodes(node):
      if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
        visit(child, True, in_try)
      elif isinstance(child, ast.Try):
        visit(child, in_function, True)
      elif in_function and not in_try and isinstance(child, ast.Import):
        found.update(alias.name for alias in child.names)
      elif in_function and not in_try and isinstance(child, ast.ImportFrom) and child.level == 0:
        found.add(child.module)
      else:
        visit(child, in_function, in_try)

  visit(tree, False, False)
  return found


def main(proto_path: str, pickle_library: str, package: str) -> None:
  from apache_beam.internal import pickler

  pickler.set_library(pickle_library)  # As sdk_worker_main does, from the pipeline options.
  failures: list[str] = []
  loaded = _unpickle_all(proto_path, failures)
  modules = sorted(name for name in sys.modules if name == package or name.startswith(package + "."))
  sources = [sys.modules[name] for name in modules
             if (getattr(sys.modules[name], "__file__", None) or "").endswith(".py")]
  lazy = sorted({name for module in sources for name in _function_level_imports(module)})
  for name in lazy:
    try:
      importlib.import_module(name)
    except Exception:  # pylint: disable=broad-except
      failures.append(f"import {name}: {traceback.format_exc(limit=1).strip().splitlines()[-1]}")
  print(json.dumps({
      "loaded": loaded, "modules": modules, "function_level_imports": lazy,
      "package_file": sys.modules[package].__file__ if package in sys.modules else None,
      "failures": failures,
  }))


if __name__ == "__main__":
  main(*sys.argv[1:])
