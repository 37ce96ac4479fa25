# Reference values for tests/core/survey/test_inference.py (issue 13, point 4), from R itself:
#   t statistics and two-sided p values (pt), Benjamini-Hochberg adjustment within each family
#   (p.adjust(method = "BH")), t critical values (qt), mitools' MIcombine degrees of freedom
#   (Rubin 1987, the limit of Barnard-Rubin as the complete-data df grows), and survey's degf()
#   of the Taylor design of design_data.csv (PSUs - strata).
# Inputs inference_input.csv and mi_input.csv are fixed random draws (numpy seed 13), kept as data.
# Run from the repository root:  Rscript tests/reference/survey/inference.R
suppressPackageStartupMessages({ library(survey); library(mitools) })
here <- "tests/reference/survey"
x <- read.csv(file.path(here, "inference_input.csv"), colClasses = c(family = "character"))
x$t <- x$d / x$se
x$p <- 2 * pt(-abs(x$t), x$df)
x$p_bh <- ave(x$p, x$family, FUN = function(p) p.adjust(p, method = "BH"))
x$q975 <- qt(0.975, x$df)
write.csv(x, file.path(here, "inference_r.csv"), row.names = FALSE)

mi <- read.csv(file.path(here, "mi_input.csv"))
res <- do.call(rbind, lapply(split(mi, mi$case), function(g) {
  fit <- MIcombine(results = as.list(g$estimate), variances = lapply(g$variance, function(v) matrix(v)))
  data.frame(case = g$case[1], estimate = unname(coef(fit)), variance = unname(vcov(fit)[1, 1]), df = unname(fit$df))
}))
write.csv(res, file.path(here, "mi_r.csv"), row.names = FALSE)

d <- read.csv(file.path(here, "design_data.csv"), colClasses = c(school_code = "character", student_id = "character"))
d$county_code <- as.character(d$county_code)
tay <- svydesign(ids = ~school_code, strata = ~county_code, weights = ~weight, data = d, nest = TRUE)
write.csv(data.frame(degf = degf(tay)), file.path(here, "degf_r.csv"), row.names = FALSE)
