# Reference estimates from R's survey package (Lumley) for tests/core/survey/test_reference.py.
# Run from the repository root:  Rscript tests/reference/survey/reference.R [OUT.csv]
# Reads design_data.csv (made by make_data.py) and writes r_results.csv with 17 significant digits.
suppressPackageStartupMessages({ library(survey); library(mitools) })
args <- commandArgs(trailingOnly = TRUE)
here <- "tests/reference/survey"
out <- if (length(args)) args[1] else file.path(here, "r_results.csv")
d <- read.csv(file.path(here, "design_data.csv"), colClasses = c(school_code = "character", student_id = "character"))
d$county_code <- as.character(d$county_code)
d$sex <- as.character(d$sex)

designs <- list(
  jk2 = svrepdesign(data = d, weights = ~weight, repweights = "jk_[0-9]+", type = "JK2",
                    combined.weights = TRUE, mse = TRUE),
  fay = svrepdesign(data = d, weights = ~weight, repweights = "fay_[0-9]+", type = "Fay", rho = 0.5,
                    combined.weights = TRUE, mse = TRUE),
  # Taylor linearisation: schools as PSUs (with replacement) within county strata
  taylor = svydesign(ids = ~school_code, strata = ~county_code, weights = ~weight, data = d, nest = TRUE)
)

rows <- list()
add <- function(case, method, group, est, se) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, method = method, group = group,
                                          estimate = as.numeric(est), se = as.numeric(se))
}
keyname <- function(by, df) {
  if (!length(by)) return("")
  apply(sapply(by, function(b) paste0(b, "=", df[[b]])), 1, paste, collapse = ";")
}
# svyby result → rows
add_by <- function(case, method, by, res) {
  g <- as.data.frame(res)[, by, drop = FALSE]
  if (length(by) == 1) g <- data.frame(g)
  add(case, method, if (length(by) == 1) paste0(by, "=", g[[1]]) else keyname(by, g), coef(res), SE(res))
}
pvs <- paste0("pv", 1:5)
cat("scales:", designs$jk2$scale, designs$fay$scale, "\n")
options(warn = -1)
pass_pvs <- paste0("pass_pv", 1:5)

for (m in names(designs)) {
  des <- designs[[m]]
  # score has missing values: na.rm for replicate designs; for the Taylor design the same rows are
  # dropped by subset(), which keeps every PSU (svyby's na.rm trips on this design in survey 4.1)
  dsc <- if (m == "taylor") subset(des, !is.na(score)) else des
  narm <- m != "taylor"
  # means
  r <- svymean(~score, dsc, na.rm = narm, deff = TRUE)
  add("mean_score", m, "", coef(r), SE(r))
  add("deff_score", m, "", deff(r), NA)
  add_by("mean_score_by_county", m, "county_code", svyby(~score, ~county_code, dsc, svymean, na.rm = narm))
  add_by("mean_score_by_county_sex", m, c("county_code", "sex"),
         svyby(~score, ~county_code + sex, dsc, svymean, na.rm = narm))
  # proportions
  add_by("prop_pass_by_county", m, "county_code", svyby(~pass, ~county_code, des, svymean))
  r <- svymean(~factor(level), des)
  add("prop_level", m, paste0("level=", sub("factor\\(level\\)", "", names(coef(r)))), coef(r), SE(r))
  # totals
  add_by("total_score_by_sex", m, "sex", svyby(~score, ~sex, dsc, svytotal, na.rm = narm))
  # quantiles (qrule "math"; SE from the replicate quantiles, as repCI does)
  if (m != "taylor") for (s in c("all", "1", "2")) {
    sub <- if (s == "all") des else subset(des, sex == s)
    sub <- subset(sub, !is.na(score))
    x <- sub$variables$score
    w <- weights(sub, "sampling")
    q <- survey:::qrule_math(x, w, 0.5)
    reps <- apply(weights(sub, "analysis"), 2, function(wi) survey:::qrule_math(x, wi, 0.5))
    v <- svrVar(reps, sub$scale, sub$rscales, mse = sub$mse, coef = q)
    add("median_score_by_sex", m, if (s == "all") "" else paste0("sex=", s), q, sqrt(v))
  }
  # differences (sex 2 − sex 1), with the covariance of the two groups
  b <- svyby(~score, ~sex, dsc, svymean, na.rm = narm, covmat = TRUE)
  ct <- svycontrast(b, c(-1, 1))
  add("diff_score_sex", m, "", coef(ct), SE(ct))
  b <- svyby(~score, ~sex + county_code, dsc, svymean, na.rm = narm, covmat = TRUE)
  nm <- names(coef(b))
  for (c in sort(unique(d$county_code))) {
    w <- setNames(rep(0, length(nm)), nm)
    w[paste0("2.", c)] <- 1
    w[paste0("1.", c)] <- -1
    ct <- svycontrast(b, w)
    add("diff_score_sex_by_county", m, paste0("county_code=", c), coef(ct), SE(ct))
  }
  # regression
  f <- svyglm(score ~ x1 + x2, dsc)
  add("regression_score", m, paste0("term=", names(coef(f))), coef(f), SE(f))
  # post-stratification and raking to known totals (every replicate adjusted too)
  if (m != "taylor") {
  ps <- postStratify(des, ~location, data.frame(location = c("乡村", "城区", "镇区"), Freq = c(40000, 25000, 35000)))
  add_by("poststrat_mean_score_by_county", m, "county_code", svyby(~score, ~county_code, ps, svymean, na.rm = TRUE))
  rk <- rake(des, list(~location, ~sex),
             list(data.frame(location = c("乡村", "城区", "镇区"), Freq = c(40000, 25000, 35000)),
                  data.frame(sex = c("1", "2"), Freq = c(52000, 48000))),
             control = list(maxit = 200, epsilon = 1e-13, verbose = FALSE))
  r <- svymean(~score, rk, na.rm = TRUE)
  add("raked_mean_score", m, "", coef(r), SE(r))
  r <- svytotal(~pass, rk)
  add("raked_total_pass", m, "", coef(r), SE(r))
  }
  # plausible values: each PV on its own, then Rubin's rules (mitools::MIcombine)
  res <- lapply(pvs, function(p) svyby(as.formula(paste0("~", p)), ~location, des, svymean))
  mi <- MIcombine(lapply(res, coef), lapply(res, vcov))
  r1 <- as.data.frame(res[[1]])
  add("pv_mean_by_location", m, paste0("location=", r1$location), coef(mi), SE(mi))
  res <- lapply(pass_pvs, function(p) svyby(as.formula(paste0("~", p)), ~county_code, des, svymean))
  mi <- MIcombine(lapply(res, coef), lapply(res, vcov))
  r1 <- as.data.frame(res[[1]])
  add("pv_prop_pass_by_county", m, paste0("county_code=", r1$county_code), coef(mi), SE(mi))
  fits <- lapply(pvs, function(p) svyglm(as.formula(paste0(p, " ~ x1 + x2")), des))
  mi <- MIcombine(lapply(fits, coef), lapply(fits, vcov))
  add("pv_regression", m, paste0("term=", names(coef(mi))), coef(mi), SE(mi))
  diffs <- lapply(pvs, function(p) {
    b <- svyby(as.formula(paste0("~", p)), ~sex, des, svymean, covmat = TRUE)
    svycontrast(b, c(-1, 1))
  })
  mi <- MIcombine(lapply(diffs, coef), lapply(diffs, vcov))
  add("pv_diff_sex", m, "", coef(mi), SE(mi))
}
res <- do.call(rbind, rows)
res$estimate <- trimws(formatC(res$estimate, digits = 17, format = "g"))
res$se <- trimws(formatC(res$se, digits = 17, format = "g"))
write.csv(res, out, row.names = FALSE, quote = TRUE)
cat("wrote", nrow(res), "rows to", out, "\n")
