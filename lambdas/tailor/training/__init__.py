"""Training: dataset snapshots → interaction data → a fitted recipe → an .npz artifact and offline metrics."""
