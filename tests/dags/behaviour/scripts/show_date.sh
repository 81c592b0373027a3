#!/bin/bash
echo "script sees {{ ds }}"
test "$DS" = "{{ ds }}"
