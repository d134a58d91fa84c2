"""Looking inside networks: per-layer summaries, filters, feature maps, saliency, adversarial examples, transfer
learning and knowledge distillation."""
from .summary import LayerSummary, Summary, receptive_field, summary
