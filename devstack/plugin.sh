#!/usr/bin/env bash
# DevStack plugin for Qinling: installs the service, configures it against the
# cloud's database, RabbitMQ and Keystone, registers the 'function-engine'
# endpoint and runs qinling-api and qinling-engine.

XTRACE=$(set +o | grep xtrace)
set -o xtrace

function install_qinling {
    setup_develop "$QINLING_DIR"
    pip_install python-qinlingclient
}

function configure_qinling {
    sudo install -d -o "$STACK_USER" "$QINLING_CONF_DIR"
    sudo install -d -o root -m 0700 "$QINLING_STATE_DIR"
    rm -f "$QINLING_CONF_FILE"

    iniset "$QINLING_CONF_FILE" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$QINLING_CONF_FILE" DEFAULT state_dir "$QINLING_STATE_DIR"
    iniset "$QINLING_CONF_FILE" DEFAULT auth_strategy keystone
    iniset_rpc_backend qinling "$QINLING_CONF_FILE"
    iniset "$QINLING_CONF_FILE" database connection "$(database_connection_url qinling)"
    iniset "$QINLING_CONF_FILE" api host "$QINLING_SERVICE_HOST"
    iniset "$QINLING_CONF_FILE" api port "$QINLING_SERVICE_PORT"
    iniset "$QINLING_CONF_FILE" engine orchestrator "$QINLING_ORCHESTRATOR"
    configure_keystone_authtoken_middleware "$QINLING_CONF_FILE" qinling
}

function create_qinling_accounts {
    create_service_user qinling admin
    get_or_create_service qinling function-engine "Function Engine Service"
    get_or_create_endpoint function-engine "$REGION_NAME" \
        "$QINLING_SERVICE_PROTOCOL://$QINLING_SERVICE_HOST:$QINLING_SERVICE_PORT"
}

function init_qinling {
    recreate_database qinling
    qinling-db-manage --config-file "$QINLING_CONF_FILE" upgrade
}

function start_qinling {
    # The engine runs as root: the local orchestrator creates namespaces and cgroups.
    run_process qinling-engine "$(which qinling-engine) --config-file $QINLING_CONF_FILE" root root
    run_process qinling-api "$(which qinling-api) --config-file $QINLING_CONF_FILE"
}

function stop_qinling {
    stop_process qinling-api
    stop_process qinling-engine
}

if is_service_enabled qinling-api qinling-engine; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        install_qinling
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        configure_qinling
        create_qinling_accounts
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        init_qinling
        start_qinling
    fi
    if [[ "$1" == "unstack" ]]; then
        stop_qinling
    fi
fi

$XTRACE
