"""Looking inside networks: per-layer summaries, filters, feature maps, saliency, adversarial examples, transfer
learning and knowledge distillation."""
from .distillation import distillation_loss
from .summary import LayerSummary, Summary, receptive_field, summary
from .transfer import count_trainable, extract_features, find_head, freeze, param_groups, replace_head, unfreeze
from .visualize import adversarial_accuracy, feature_maps, fgsm, first_layer_filters, saliency
