select * from t where run_id = '{{ run_id }}' and who = '{{ params.who }}'
