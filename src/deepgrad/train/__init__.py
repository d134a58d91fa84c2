"""Training: the ``Trainer``/``fit`` loop, callbacks, metrics and the training health report."""
from .callbacks import (
                        Callback,
                        CSVLogger,
                        EarlyStopping,
                        GradientClipping,
                        JSONLogger,
                        LRSchedulerCallback,
                        ModelCheckpoint,
                        ProgressBar,
                        TerminateOnNaN,
)
from .health import HealthReport, check_health, format_report, gradient_norms
from .metrics import *
from . import tta
from .trainer import History, Trainer, TrainingInterrupted, fit
from .tta import ShiftTTA
