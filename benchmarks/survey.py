"""Benchmark: a county × sex × location table of 5 plausible values, 80 JK2 replicates, 168,000 pupils.

junheng (``junheng.survey.mean`` with ``pv=``) against R's survey package on the same data in
the same run (``svrepdesign(type="JK2", mse=TRUE)``, ``svyby(svymean)`` per plausible value,
``mitools::MIcombine``).  R gets the data as a CSV of the small columns and a raw float64 file
of the replicate weights (``readBin``), so its file reading is quick and timed apart.  The two
results are compared (max relative difference) before the times are printed.

    .venv/bin/python benchmarks/run.py survey          (BENCH_SURVEY_PUPILS=… to change the size)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from junheng.survey import NO_RULE, ReplicateDesign, mean
from junheng.survey.replicates import jk2_factors

R_SCRIPT = r"""
suppressPackageStartupMessages({ library(survey); library(mitools) })
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1], colClasses = c(county_code = "character", location = "character", sex = "character"))
R <- as.integer(args[3])
reps <- matrix(readBin(args[2], "double", n = nrow(d) * R), nrow = nrow(d), ncol = R)
t1 <- proc.time()[["elapsed"]]
des <- svrepdesign(data = d, weights = ~weight, repweights = reps, type = "JK2", combined.weights = TRUE, mse = TRUE)
res <- lapply(paste0("pv", 1:5), function(p)
  svyby(as.formula(paste0("~", p)), ~county_code + sex + location, des, svymean))
mi <- MIcombine(lapply(res, coef), lapply(res, function(r) diag(SE(r)^2)))
t2 <- proc.time()[["elapsed"]]
k <- as.data.frame(res[[1]])[, c("county_code", "sex", "location")]
out <- data.frame(k, estimate = coef(mi), se = SE(mi))
write.csv(out, args[4], row.names = FALSE)
cat(sprintf("R_READ %.3f\nR_ESTIMATE %.3f\n", t1 - t0, t2 - t1))
"""


def synthetic(n_pupils: int, n_counties: int = 157, per_school: int = 30, replicates: int = 80,
              seed: int = 1) -> pl.DataFrame:
    """A sample like the province's: schools of ≤30 pupils in 157 counties, JK2 zones of school pairs."""
    rng = np.random.default_rng(seed)
    n_schools = n_pupils // per_school
    school = np.repeat(np.arange(n_schools), per_school)[:n_pupils]
    county_of_school = np.sort(rng.integers(0, n_counties, n_schools))
    loc_of_school = rng.integers(0, 3, n_schools)
    effect = rng.normal(0, 30, n_schools)
    county = county_of_school[school]
    sex = rng.integers(1, 3, n_pupils)
    w_school = rng.uniform(5, 15, n_schools)
    weight = w_school[school] * rng.uniform(0.9, 1.1, n_pupils)
    theta = 500 + effect[school] + 10 * (sex == 2) + rng.normal(0, 80, n_pupils)
    pv = theta[:, None] + rng.normal(0, 35, (n_pupils, 5))
    zone = (school // 2)
    member = school % 2
    reps = weight[:, None] * jk2_factors(zone, member, replicates)
    df = pl.DataFrame({
        "school_code": pl.Series((4100000000 + school).astype(str)),
        "county_code": pl.Series((410100 + county).astype(str)),
        "sex": pl.Series(sex.astype(str)),
        "location": pl.Series(np.array(["城区", "镇区", "乡村"])[loc_of_school[school]]),
        "weight": weight,
    })
    df = df.with_columns(pl.Series(f"pv{m + 1}", pv[:, m]) for m in range(5))
    return df.with_columns(pl.Series(f"rep_{r + 1}", reps[:, r]) for r in range(replicates))


def main() -> None:
    n = int(os.environ.get("BENCH_SURVEY_PUPILS", "168000"))
    R = 80
    df = synthetic(n, replicates=R)
    by = ["county_code", "sex", "location"]
    print(f"data: {n} pupils, {df['school_code'].n_unique()} schools, {R} JK2 replicates, 5 PVs; "
          f"table {' × '.join(by)}")

    times = []
    for _ in range(3):
        t = time.perf_counter()
        design = ReplicateDesign(df, "weight", "rep_*", method="jk2", rule=NO_RULE)
        ours = mean(design, pv="pv*", by=by)
        times.append(time.perf_counter() - t)
    t_ours = min(times)
    print(f"junheng: {ours.height} groups in {t_ours:.3f} s (best of 3; design + estimate)")

    if shutil.which("Rscript") is None:
        print("R not installed: no baseline")
        return
    with tempfile.TemporaryDirectory(prefix="junheng-bench-") as tmp:
        tmp_p = Path(tmp)
        df.select("school_code", *by, "weight", *[f"pv{m}" for m in range(1, 6)]).write_csv(tmp_p / "d.csv")
        reps = df.select(pl.col("^rep_.*$")).to_numpy(order="fortran").astype("<f8")
        reps.T.tofile(tmp_p / "reps.bin")  # column-major for R's matrix()
        (tmp_p / "bench.R").write_text(R_SCRIPT)
        t = time.perf_counter()
        proc = subprocess.run(["Rscript", str(tmp_p / "bench.R"), str(tmp_p / "d.csv"), str(tmp_p / "reps.bin"),
                               str(R), str(tmp_p / "r.csv")], capture_output=True, text=True)
        t_r_total = time.perf_counter() - t
        if proc.returncode:
            print("R failed:", proc.stderr[-2000:])
            return
        figures = dict(line.split() for line in proc.stdout.splitlines() if line.startswith("R_"))
        r_est = float(figures["R_ESTIMATE"])
        r = pl.read_csv(tmp_p / "r.csv", schema_overrides={"county_code": pl.String, "sex": pl.String})
    both = ours.join(r, on=by, suffix="_r")
    rel_e = float(((both["estimate"] - both["estimate_r"]).abs() / both["estimate_r"].abs()).max())
    rel_s = float(((both["se"] - both["se_r"]).abs() / both["se_r"].abs()).max())
    print(f"R survey: estimation {r_est:.2f} s (reading {float(figures['R_READ']):.2f} s; whole Rscript "
          f"{t_r_total:.1f} s)")
    print(f"agreement: {both.height}/{ours.height} groups matched; max relative difference estimate {rel_e:.1e}, "
          f"se {rel_s:.1e}")
    print(f"ratio: junheng is {r_est / t_ours:.0f}× faster than R survey (estimation only)")


if __name__ == "__main__":
    main()
