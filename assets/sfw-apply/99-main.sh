if [ -n "$TMP" ]; then
  : >"$TMP/empty"
  : >"$TMP/no-sets"
fi
case $CMD in
  apply) cmd_apply ;;
  confirm) cmd_confirm ;;
  rollback) cmd_rollback ;;
  destroy) cmd_destroy ;;
  status) cmd_status ;;
  verify) cmd_verify ;;
  tune) cmd_tune ;;
  boot) cmd_boot ;;
  _timer) cmd_timer ;;
esac
