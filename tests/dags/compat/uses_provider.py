"""Imports a provider package Airlane does not ship: an import error naming the module."""

from airflow import DAG
from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator

with DAG("uses_provider", schedule=None) as dag:
    S3CreateBucketOperator(task_id="bucket", bucket_name="b")
