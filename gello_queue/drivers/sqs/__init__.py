"""Amazon SQS driver (``sqs://``); needs ``pip install 'gello[sqs]'``."""

from gello_queue.drivers.sqs.driver import SqsDriver
from gello_queue.drivers.sqs.options import SqsOptions, options_from_url

__all__ = ["SqsDriver", "SqsOptions", "options_from_url"]
