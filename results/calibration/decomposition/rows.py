"""The rows of the decomposition (run.py, timing.py): name -> (sampler, preset, settings over it, amortizer)."""

SEED, PRIOR_STEPS, SIGMA = 500, 250, 0.05
_LAVPS_GRID = {"steps": 20, "window": 17, "final_tau": 20}
ROWS = {
    "lavps": ("lavps", None, {}),
    "lavps-ref": ("lavps", "reference", {"linear_variance": False, "temperature": 2.0}),
    "mgdm-ref": ("mgdm", "reference", {}),
    # MGDM-reference's Adam budget on LAVPS's grid: what the grid is worth
    "mgdm-ref-grid20": ("mgdm", "reference", dict(_LAVPS_GRID)),
    # MGDM-reference's grid with 5 Adam steps inside the window instead of 20: what the inner solve is worth
    "mgdm-ref-in5": ("mgdm", "reference", {"adam_in": 5}),
    "mgdm-fast": ("mgdm", "fast", {}),
    # LAVPS's default on MGDM's 50-point grid (the amortizer was trained on the 20-point one)
    "lavps-n50": ("lavps", "fastest", {"steps": 50, "window": 47, "final_tau": 20}),
    "lavps-n40": ("lavps", "fastest", {"steps": 40, "window": 37, "final_tau": 20}),
    # LAVPS's default with Adam steps on the exact inner problem after the network (lr as MGDM-fast's)
    "lavps-in1": ("lavps", "fastest", {"inner_steps": 1, "lr": 0.1}),
    "lavps-in5": ("lavps", "fastest", {"inner_steps": 5, "lr": 0.1}),
    # the first 10 of 20 iterations zero-shot (MGDM-fast's 2 Adam steps at lr 0.1), the network on the last 10
    "lavps-w10": ("lavps", "fastest", {"window": 10, "adam_out": 2, "lr": 0.1}),
    "lavps-w14": ("lavps", "fastest", {"window": 14, "adam_out": 2, "lr": 0.1}),
    # the default's window (its first 3 iterations zero-shot) with 2 Adam steps there at lr 0.1 instead of 1 at 0.03
    "lavps-o2": ("lavps", "fastest", {"adam_out": 2, "lr": 0.1}),
}
# the shipped amortizer trained 10000 steps longer (results/amortizer_ft10k), at the card's draw and temperatures
# near the shipped card's for the family (its own card has no fit): ft10k:DRAW:T
FT10K = "results/amortizer_ft10k/amortizer.safetensors"


def row_of(name):
    """A name of ROWS; `NAME@T`: that row at variance temperature T; `ft10k:DRAW:T`: the longer-trained network."""
    if "@" in name:
        base, temperature = name.split("@")
        sampler, preset, settings, amortizer = row_of(base)
        return sampler, preset, {**settings, "temperature": float(temperature)}, amortizer
    if not name.startswith("ft10k:"):
        return (*ROWS[name], None)
    _, draw, temperature = name.split(":")
    return ("lavps", "fastest", {"draw": draw, "temperature": float(temperature)}, FT10K)
