"""The scripts the benchmark runs in subprocesses, as `python -c` text.

The benchmark process itself never imports TensorFlow, so it stays small and
starts nothing that competes for CPU with what it measures.
"""

GENERATE_SCRIPT = r"""
import json, sys, time
from pass_tfds.testing import write_sample
spec = json.loads(sys.argv[1])
start = time.perf_counter()
write_sample(spec["dir"], spec["images"], seed=spec["seed"], image_kb=spec["image_kb"],
             csv_rows=spec["csv_rows"], num_archives=spec["num_archives"],
             **({"pandas_safe_usernames": True} if spec["pandas_safe_usernames"] else {}))
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

# The TFDS catalog's `pass` builder (tensorflow_datasets/datasets/pass), untouched,
# with DownloadManager.download answering from the local corpus: its `_URLS` is a
# dict holding a list of `Resource`s and a `Resource`; every URL's file name is
# mapped to <corpus>/<file name>. `iter_archive(path)` then streams that local tar
# (the extract method is guessed from the `.tar` name); nothing is extracted.
CATALOG_SCRIPT = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
corpus, data_dir = sys.argv[1], sys.argv[2]
import tensorflow_datasets as tfds
from etils import epath

def _local(resource):
  url = resource.url if isinstance(resource, tfds.download.Resource) else os.fspath(resource)
  path = os.path.join(corpus, url.rsplit("/", 1)[-1])
  if not os.path.exists(path):
    raise FileNotFoundError(f"{url} -> {path}: not in the corpus")
  return epath.Path(path)

def _map(structure):
  if isinstance(structure, dict):
    return {key: _map(value) for key, value in structure.items()}
  if isinstance(structure, (list, tuple)):
    return type(structure)(_map(value) for value in structure)
  return _local(structure)

def _download(self, url_or_urls):
  return _map(url_or_urls)

tfds.download.DownloadManager.download = _download
builder = tfds.builder("pass", data_dir=data_dir)
assert type(builder).__module__.startswith("tensorflow_datasets."), type(builder).__module__
builder.download_and_prepare(download_config=tfds.download.DownloadConfig())
print("CATALOG_EXAMPLES", builder.info.splits["train"].num_examples, os.fspath(builder.data_path))
"""

COPY_SCRIPT = r"""
import os, shutil, sys
source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
for name in sys.argv[3:]:
  shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
"""

# Parses every record of two builds with tf.train.Example and compares the
# feature maps (not the raw bytes: proto map order may differ).
COMPARE_SCRIPT = r"""
import glob, hashlib, itertools, json, os, struct, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf

def shard_names(folder):
  return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*-train.tfrecord-*")))

def canonical(raw):
  example = tf.train.Example.FromString(raw)
  items = []
  for key in sorted(example.features.feature):
    feature = example.features.feature[key]
    kind = feature.WhichOneof("kind")
    if kind == "bytes_list":
      value = tuple(feature.bytes_list.value)
    elif kind == "float_list":  # As bits: NaN (unknown GPS) must equal NaN.
      value = struct.pack(f"<{len(feature.float_list.value)}f", *feature.float_list.value)
    elif kind == "int64_list":
      value = tuple(feature.int64_list.value)
    else:
      value = None
    items.append((key, kind, value))
  return tuple(items)

a, b = sys.argv[1], sys.argv[2]
names_a, names_b = shard_names(a), shard_names(b)
result = {"shards_a": names_a, "shards_b": names_b, "same_shard_names": names_a == names_b,
          "records": 0, "mismatches": 0, "first_mismatch": None, "raw_bytes_identical": True}
digest = hashlib.sha256()
for name in sorted(set(names_a) & set(names_b)):
  records_a = tf.data.TFRecordDataset(os.path.join(a, name)).as_numpy_iterator()
  records_b = tf.data.TFRecordDataset(os.path.join(b, name)).as_numpy_iterator()
  for position, (raw_a, raw_b) in enumerate(itertools.zip_longest(records_a, records_b)):
    result["records"] += 1
    if raw_a is None or raw_b is None:
      same = False
    else:
      result["raw_bytes_identical"] &= raw_a == raw_b
      fields_a = canonical(raw_a)
      same = raw_a == raw_b or fields_a == canonical(raw_b)
      digest.update(repr(fields_a).encode())
    if not same:
      result["mismatches"] += 1
      if result["first_mismatch"] is None:
        result["first_mismatch"] = f"{name} record {position}"
result["content_sha256"] = digest.hexdigest()
result["identical"] = result["same_shard_names"] and result["mismatches"] == 0 and result["records"] > 0
print("COMPARE_JSON " + json.dumps(result))
"""
