# Reference for junheng.assessment.mantel_haenszel_dif: R's mantelhaen.test (stats package)
# on hand-made stratified 2x2 tables. Rows = group (reference, focal), columns = (right, wrong).
# The conf.int of the common odds ratio uses the Robins-Breslow-Greenland variance of log(alpha).
# Run: Rscript mh_dif.R  (writes mh_dif_tables.csv and mh_dif_r.csv)
tabs <- list(
  I1 = list(c(5, 3, 2, 6), c(10, 4, 6, 8), c(3, 7, 1, 9)),          # favours reference
  I2 = list(c(12, 14, 8, 6), c(20, 19, 10, 11), c(30, 33, 5, 4), c(9, 9, 1, 1)),  # near null
  I3 = list(c(4, 10, 12, 6), c(8, 15, 9, 3), c(15, 22, 5, 2))      # favours focal
)
rows <- list(); res <- list()
for (item in names(tabs)) {
  k <- length(tabs[[item]])
  x <- array(unlist(tabs[[item]]), dim = c(2, 2, k))
  for (s in 1:k) rows[[length(rows) + 1]] <- data.frame(item_id = item, stratum = s,
      A = x[1, 1, s], C = x[2, 1, s], B = x[1, 2, s], D = x[2, 2, s])
  m <- mantelhaen.test(x, correct = TRUE)
  res[[item]] <- data.frame(item_id = item, chi2 = unname(m$statistic), p_value = m$p.value,
      alpha_mh = unname(m$estimate), ci_low = m$conf.int[1], ci_high = m$conf.int[2])
}
write.csv(do.call(rbind, rows), "mh_dif_tables.csv", row.names = FALSE)
write.csv(do.call(rbind, res), "mh_dif_r.csv", row.names = FALSE)
