"""Files for the TensorBoard Embedding Projector (and its standalone web version, projector.tensorflow.org):
vectors.tsv (one tab-separated row of floats per word, in vocabulary order), metadata.tsv (the words, one
per line: a single column has no header) and projector_config.pbtxt naming both."""
from .io_utils import output_directory_lock, replace_files

CONFIG = """embeddings {{
  tensor_name: "{name}"
  tensor_shape: {rows}
  tensor_shape: {dim}
  tensor_path: "vectors.tsv"
  metadata_path: "metadata.tsv"
}}
"""
ROWS_PER_WRITE = 4096


def write_projector(embeddings, out_dir, limit=None, name="w2v-nce"):
    """Write the three files for the `limit` most frequent words (all without a limit) into out_dir, each
    complete before any replaces an earlier one. Values are written with 9 significant digits, which read
    back as exactly the float32 values of the vectors."""
    rows = len(embeddings) if limit is None else min(limit, len(embeddings))

    def vectors(path):
        row_format = "\t".join(["%.9g"] * embeddings.dim) + "\n"
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            for lo in range(0, rows, ROWS_PER_WRITE):
                block = embeddings.vectors[lo:min(lo + ROWS_PER_WRITE, rows)].tolist()
                out.write("".join(row_format % tuple(row) for row in block))

    def metadata(path):
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write("".join(word + "\n" for word in embeddings.words[:rows]))

    def config(path):
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write(CONFIG.format(name=name, rows=rows, dim=embeddings.dim))

    with output_directory_lock(out_dir):
        replace_files(out_dir, {"vectors.tsv": vectors, "metadata.tsv": metadata, "projector_config.pbtxt": config})
    return rows
