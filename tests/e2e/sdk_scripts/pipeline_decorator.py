"""The @PipelineDecorator equivalent of pipeline_controller.py: two components run locally as
steps of a pipeline function."""

from clearml import PipelineDecorator, Task


@PipelineDecorator.component(return_values=["parts"], cache=False)
def split(x: int) -> list:
    return [int(x), int(x) * 2]


@PipelineDecorator.component(return_values=["total"], cache=False)
def total(parts: list) -> int:
    return sum(parts)


@PipelineDecorator.pipeline(name="decorated", project="sdk pipelines", version="1.0.0")
def run(x: int = 3) -> None:
    controller = Task.current_task()
    print("TASK", controller.id, flush=True)
    result = total(split(x))
    print(f"SUM {int(result)}", flush=True)  # one line: int() waits for the step first


if __name__ == "__main__":
    PipelineDecorator.run_locally()
    run()
