# Recipe for the mirt reference values (R >= 4.2, mirt 1.47).
library(mirt)
dat <- expand.table(LSAT7)
write.csv(dat, "lsat7.csv", row.names = FALSE)
fit <- mirt(dat, 1, itemtype = "2PL", quadpts = 61, theta_lim = c(-6, 6), TOL = 1e-4, SE = TRUE, SE.type = "Oakes")
cf <- coef(fit, printSE = TRUE, as.data.frame = TRUE)
print(logLik(fit)); print(extract.mirt(fit, "iterations"))
pars <- coef(fit, IRTpars = FALSE, simplify = TRUE)$items
ses <- sapply(1:5, function(i) coef(fit, printSE = TRUE)[[i]]["SE", c("a1", "d")])
out <- data.frame(item = colnames(dat), a = pars[, "a1"], a_se = ses[1, ], d = pars[, "d"], d_se = ses[2, ],
                  b = -pars[, "d"] / pars[, "a1"])
write.csv(out, "lsat7_2pl_mirt.csv", row.names = FALSE)
sc <- fscores(fit, method = "EAP", full.scores = FALSE, full.scores.SE = TRUE)
pat <- apply(sc[, 1:5], 1, paste, collapse = "")
write.csv(data.frame(pattern = pat, F1 = sc[, "F1"], SE_F1 = sc[, "SE_F1"]), "lsat7_eap_by_pattern_mirt.csv", row.names = FALSE)
