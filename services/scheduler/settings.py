from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    pass
