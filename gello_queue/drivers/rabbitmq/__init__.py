"""RabbitMQ driver (``amqp://``, ``amqps://``); needs ``pip install 'gello[rabbitmq]'``."""

from gello_queue.drivers.rabbitmq.driver import RabbitMQDriver

__all__ = ["RabbitMQDriver"]
