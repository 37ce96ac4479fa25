# Reference for junheng.questionnaire.factor_gaps from R's survey package (Lumley) and mitools.
# Run from the repository root:  Rscript tests/reference/questionnaire/factor_gaps.R [OUT.csv]
# Reads tests/reference/survey/design_data.csv (made by tests/reference/survey/make_data.py) and
# writes r_factor_gaps.csv: per factor category the mean of pv1..pv5 (svyby + MIcombine) and the
# gap highest − lowest category (svyby(covmat = TRUE) + svycontrast per PV, then MIcombine).
suppressPackageStartupMessages({ library(survey); library(mitools) })
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/reference/questionnaire/r_factor_gaps.csv"
d <- read.csv("tests/reference/survey/design_data.csv",
              colClasses = c(school_code = "character", student_id = "character"))
d$sex <- as.character(d$sex)
# the factors, built the same way in tests/core/questionnaire/test_gaps.py
d$hi_x2 <- d$x2 >= 5                                         # a yes/no indicator
d$x1g <- ifelse(d$x1 < -0.5, "低", ifelse(d$x1 < 0.5, "中", "高"))  # a scale cut into 低/中/高
d$x1g[is.na(d$score)] <- NA                                   # pupils who did not answer: no group
d$x1g <- factor(d$x1g, levels = c("低", "中", "高"))

designs <- list(
  jk2 = svrepdesign(data = d, weights = ~weight, repweights = "jk_[0-9]+", type = "JK2",
                    combined.weights = TRUE, mse = TRUE),
  fay = svrepdesign(data = d, weights = ~weight, repweights = "fay_[0-9]+", type = "Fay", rho = 0.5,
                    combined.weights = TRUE, mse = TRUE),
  # Taylor linearisation: schools as PSUs (with replacement) within county strata
  taylor = svydesign(ids = ~school_code, strata = ~county_code, weights = ~weight, data = d, nest = TRUE)
)
pvs <- paste0("pv", 1:5)
rows <- list()
add <- function(case, method, group, category, est, se) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, method = method, group = group, category = category,
                                          estimate = as.numeric(est), se = as.numeric(se))
}

factor_case <- function(case, des, f, by = NULL) {
  # domain estimation: subset() keeps the design (every PSU and stratum) for the variance
  des <- des[!is.na(des$variables[[f]]), ]
  form <- as.formula(paste0("~", paste(c(by, f), collapse = "+")))
  res <- lapply(pvs, function(p) svyby(as.formula(paste0("~", p)), form, des, svymean, covmat = TRUE))
  mi <- MIcombine(lapply(res, coef), lapply(res, vcov))
  g <- as.data.frame(res[[1]])
  cat_label <- tolower(as.character(g[[f]]))
  group <- if (is.null(by)) rep("", nrow(g)) else paste0(by, "=", g[[by]])
  add(case, m, group, cat_label, coef(mi), SE(mi))
  # the gap: highest − lowest category, within each by group, from the same replicates
  lev <- if (is.logical(d[[f]])) c(FALSE, TRUE) else levels(d[[f]])
  groups <- if (is.null(by)) "" else sort(unique(g[[by]]))
  for (b in groups) {
    sel <- if (is.null(by)) rep(TRUE, nrow(g)) else g[[by]] == b
    w <- as.numeric(sel & as.character(g[[f]]) == as.character(lev[length(lev)])) -
      as.numeric(sel & as.character(g[[f]]) == as.character(lev[1]))
    cts <- lapply(res, function(r) svycontrast(r, w))
    mi <- MIcombine(lapply(cts, coef), lapply(cts, vcov))
    add(case, m, if (is.null(by)) "" else paste0(by, "=", b),
        paste(tolower(lev[length(lev)]), "\u2212", tolower(lev[1])), coef(mi), SE(mi))
  }
}

for (m in names(designs)) {
  des <- designs[[m]]
  factor_case("hi_x2", des, "hi_x2")
  factor_case("x1g", des, "x1g")
  factor_case("x1g_by_sex", des, "x1g", by = "sex")
}
res <- do.call(rbind, rows)
write.csv(format(res, digits = 17), out, row.names = FALSE)
