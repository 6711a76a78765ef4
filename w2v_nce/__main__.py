"""`python -m w2v_nce ...` runs the command line, as `w2v-nce ...` does."""
from .cli import main

main(prog_name="w2v-nce")
