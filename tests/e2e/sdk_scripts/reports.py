"""A run that reports what ClearML users report besides scalars, then reads it all back."""

import json

from clearml import Task

task = Task.init(
    project_name="sdk e2e",
    task_name="reports run",
    reuse_last_task_id=False,
    auto_resource_monitoring=False,
)
print("TASK", task.id, flush=True)
logger = task.get_logger()
for i in range(3):
    logger.report_scalar("loss", "train", value=1.0 / (i + 1), iteration=i)
logger.report_histogram("hist", "counts", values=[3, 1, 4, 1, 5], iteration=2)
logger.report_table("table", "rows", iteration=2, table_plot=[["a", "b"], [1, 2], [3, 4]])
logger.report_plotly(
    "plotly", "figure", iteration=2, figure={"data": [{"x": [1, 2], "y": [3, 4]}], "layout": {}}
)
logger.report_confusion_matrix("confusion", "matrix", iteration=2, matrix=[[5, 1], [2, 7]])
logger.report_scatter2d("scatter", "points", iteration=2, scatter=[[0, 1], [1, 3], [2, 2]])
logger.report_single_value("accuracy", 0.93)
logger.report_image("samples", "image", iteration=1, url="http://files.example/a.png")
logger.report_image("samples", "image", iteration=2, url="http://files.example/b.png")
print("hello from the reports script", flush=True)
task.close()

done = Task.get_task(task_id=task.id)
plots = done.get_reported_plots()
print("PLOTS", json.dumps(sorted((p["metric"], p["variant"], p["iter"]) for p in plots)))
print("PLOTLY", json.dumps([p["plot_str"] for p in plots if p["metric"] == "plotly"]))
print("SINGLE", json.dumps(done.get_reported_single_values()))
samples = done.get_debug_samples("samples", "image")
print("IMAGES", json.dumps([(s["iter"], s["url"]) for s in samples]))
print("SCALARS", json.dumps(done.get_reported_scalars()["loss"]["train"]["y"]))
print("CONSOLE", json.dumps(done.get_reported_console_output(number_of_reports=100)))
