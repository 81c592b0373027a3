"""``.partial().expand()`` of custom operators whose required arguments are positional
(Airflow's example_dynamic_task_mapping_with_no_taskflow_operators)."""

from datetime import datetime

from airflow.sdk import DAG, BaseOperator

EXPECTED_LINES = ["[sum_it] Total was 9", "[scaled[0]] 30", "[from_kwargs[0]] 7"]


class AddOneOperator(BaseOperator):
    def __init__(self, value, **kwargs):
        super().__init__(**kwargs)
        self.value = value

    def execute(self, context):
        return self.value + 1


class ScaleOperator(BaseOperator):
    def __init__(self, value, factor, **kwargs):
        super().__init__(**kwargs)
        self.value = value
        self.factor = factor

    def execute(self, context):
        print(self.value * self.factor)
        return self.value * self.factor


class SumItOperator(BaseOperator):
    template_fields = ("values",)

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = values

    def execute(self, context):
        print(f"Total was {sum(self.values)}")


with DAG("mapped_positional", schedule=None, start_date=datetime(2022, 3, 4)):
    add_one = AddOneOperator.partial(task_id="add_one").expand(value=[1, 2, 3])
    SumItOperator(task_id="sum_it", values=add_one.output)
    ScaleOperator.partial(task_id="scaled", factor=10).expand(value=[3])
    ScaleOperator.partial(task_id="from_kwargs").expand_kwargs([{"value": 7, "factor": 1}])
