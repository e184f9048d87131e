"""A small, real training flow for the example registry's MDL-REC: matrix factorisation of a
synthetic member x title interaction matrix with numpy, in Metaflow's local mode.

    python recommendation_flow.py run --lr 0.02
    mreg register MDL-REC@v12.5 --from-metaflow RecommendationEnsembleFlow/<run>/train \
        --artifact model --artifact eval --dataset "Member interaction history=snapshot"

The interactions are generated from a fixed seed, so two runs with the same parameters
train the same model byte for byte.
"""

from metaflow import FlowSpec, Parameter, step


class RecommendationEnsembleFlow(FlowSpec):
    lr = Parameter("lr", help="SGD learning rate", type=float, default=0.01)
    embedding_dim = Parameter("embedding_dim", help="Latent factors per member and title", type=int, default=8)
    epochs = Parameter("epochs", help="Passes over the observed interactions", type=int, default=30)
    seed = Parameter("seed", help="Seed of the synthetic interactions", type=int, default=7)
    snapshot = Parameter("snapshot", help="The interaction-history snapshot trained on", default="2025-10-31")

    @step
    def start(self):
        """Synthesise interactions: members and titles with hidden tastes, 30% observed."""
        import numpy as np

        if self.epochs < 1 or self.lr <= 0:
            raise ValueError("epochs must be at least 1 and lr positive")
        rng = np.random.default_rng(self.seed)
        members, titles, taste = 120, 80, 4
        affinity = rng.normal(size=(members, taste)) @ rng.normal(size=(taste, titles))
        self.interactions = (affinity + rng.normal(scale=0.5, size=affinity.shape) > 0.8).astype(np.float64)
        self.observed = rng.random(affinity.shape) < 0.3
        self.next(self.train)

    @step
    def train(self):
        """Fit member and title factors to the observed cells by gradient descent; keep the
        rest for evaluation."""
        import io

        import numpy as np

        rng = np.random.default_rng(self.seed + 1)
        members, titles = self.interactions.shape
        p = rng.normal(scale=0.1, size=(members, self.embedding_dim))
        q = rng.normal(scale=0.1, size=(titles, self.embedding_dim))
        mask, target = self.observed, self.interactions
        for _ in range(self.epochs):
            error = mask * (p @ q.T - target)
            p, q = p - self.lr * (error @ q + 0.01 * p), q - self.lr * (error.T @ p + 0.01 * q)
        scores = p @ q.T
        held_out = ~mask
        top = np.argsort(-np.where(mask, -np.inf, scores), axis=1)[:, :10]
        hits = np.take_along_axis(target * held_out, top, axis=1)
        self.eval = {
            "train_rmse": round(float(np.sqrt((((scores - target) * mask) ** 2).sum() / mask.sum())), 4),
            "held_out_rmse": round(float(np.sqrt((((scores - target) * held_out) ** 2).sum() / held_out.sum())), 4),
            "hit_rate_at_10": round(float(hits.mean()), 4),
        }
        buffer = io.BytesIO()
        np.savez(buffer, members=p, titles=q)
        self.model = buffer.getvalue()
        self.next(self.end)

    @step
    def end(self):
        print("evaluation:", self.eval)


if __name__ == "__main__":
    RecommendationEnsembleFlow()
