"""The canary judge, Kayenta-style: ``pipeline`` (per-metric rules, scoring, the samples
schema) over ``stats`` (Mann-Whitney, intervals, effect sizes; needs numpy, our own Mann-Whitney and normal quantile need no scipy).

Pure: no I/O and no registry; ``gates`` turns a model's baselines into the judge's specs.
"""
