"""Suite-wide settings: headless plots and widgets, the offline dataset, one BLAS thread."""

import os

os.environ.setdefault("COURSE_HEADLESS", "1")
os.environ.setdefault("COURSE_DATASET", "digits")
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
