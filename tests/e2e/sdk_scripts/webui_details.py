"""A run in an existing project for the web UI's detail tabs: hyperparameters in two sections,
a dict and a text configuration object, tags, an artifact and an output model on the file
server, an input model (argv[3], made by the test), plots (table, confusion matrix,
histogram, scatter) and debug images of two iterations."""

import json
import sys
from pathlib import Path

import numpy as np
from clearml import OutputModel, Task

project, work, pretrained = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
work.mkdir(parents=True, exist_ok=True)
task = Task.init(
    project_name=project,
    task_name="detailed run",
    reuse_last_task_id=False,
    output_uri=True,
    auto_resource_monitoring=False,
    auto_connect_frameworks=False,
)
print("TASK", task.id, flush=True)
task.connect({"lr": 0.003, "batch": 64}, name="Args")
task.connect({"momentum": 0.9, "nesterov": True}, name="Optimizer")
task.connect_configuration({"layers": 18, "dropout": 0.25}, name="model dict")
task.set_configuration_object(
    name="augment", config_text="flip: horizontal\ncrop: 224\n", config_type="yaml"
)
task.add_tags(["baseline", "gpu-a100"])
task.set_input_model(model_id=pretrained, update_task_design=False, update_task_labels=False)

task.upload_artifact("class names", artifact_object={"cat": 0, "dog": 1}, wait_on_upload=True)
weights = work / "weights.pt"
weights.write_bytes(b"weights " * 4000)
model = OutputModel(task=task, name="detailed model", framework="PyTorch")
model.update_weights(weights_filename=str(weights))

logger = task.get_logger()
table = [["epoch", "accuracy"], [1, 0.71], [2, 0.84], [3, 0.9]]
logger.report_table("results table", "epoch summary", iteration=0, table_plot=table)
logger.report_confusion_matrix(
    "confusion",
    "val",
    iteration=0,
    matrix=np.array([[40, 2], [5, 53]]),
    xaxis="predicted",
    yaxis="actual",
    xlabels=["cat", "dog"],
    ylabels=["cat", "dog"],
)
logger.report_histogram(
    "class histogram", "counts", iteration=0, values=[12, 30, 7], xlabels=["cat", "dog", "bird"]
)
logger.report_scatter2d(
    "embedding scatter",
    "points",
    iteration=0,
    scatter=np.array([[0.1, 0.2], [0.5, 0.4], [0.9, 0.7]]),
    mode="markers",
)
for step in range(2):
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:, :, step] = 255
    logger.report_image("samples", "colour", iteration=step, image=image)
task.flush(wait_for_uploads=True)
task.close()
print("MODEL", json.dumps(model.id))
